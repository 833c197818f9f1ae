"""Study 1: rank offline text stats by the accuracy gap between their low/mid/high pools."""
