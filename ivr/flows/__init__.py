"""Call flows: short modules that read like the product, awaiting verbs on a `Conversation`."""
