// The c2s server lands here (issue 9).
