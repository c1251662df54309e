"""quick: placeholder."""
