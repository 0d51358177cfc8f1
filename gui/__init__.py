"""Gatescope's Qt front end: one Session owns the state; views subscribe to it."""
