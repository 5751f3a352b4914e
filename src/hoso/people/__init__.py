"""Electronic dossiers: people, immutable versions, posts, bulk import and export."""
