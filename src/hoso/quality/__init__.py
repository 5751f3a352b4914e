"""Data quality: đúng – đủ – sạch – sống (quality-rules.md), cleaning reviewed by a person."""
