print("demo upstream: not yet")
