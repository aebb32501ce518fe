print("authgate: not yet")
