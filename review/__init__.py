"""Review integrations: the b4 review check command."""
