print("authgate-ws: not yet")
