"""Study 10: does the tiny EasyAnimate's single-op pool ranking hold for a larger one?"""
