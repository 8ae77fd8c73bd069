"""Results layer: parsers (pure), the on-disk store, reports and comparison."""
