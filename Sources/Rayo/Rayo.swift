// Issue 9: Rayo lands here.
