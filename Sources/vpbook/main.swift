print("vpbook")
