"""Study 5: the best pool repeated 1x/2x/4x against fresh rows of the same total size."""
