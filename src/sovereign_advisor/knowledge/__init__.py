"""The knowledge base: cited facts and rules, catalogue and dated prices, as YAML data."""
