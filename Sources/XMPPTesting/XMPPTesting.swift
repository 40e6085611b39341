// Issue 9: XMPPTesting lands here.
