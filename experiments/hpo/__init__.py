"""Study 6: an Optuna sweep over recipe thresholds against k-sigma and the raw data."""
