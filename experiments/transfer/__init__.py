"""Study 3: does study 1's operator ranking hold with a larger model?"""
