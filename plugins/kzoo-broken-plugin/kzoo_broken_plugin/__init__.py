"""A deliberately broken kzoo plugin: both of its entry points must be reported and skipped."""
