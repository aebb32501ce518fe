print("authgate-fcgi: not yet")
