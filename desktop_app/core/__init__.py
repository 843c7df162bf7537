"""Qt-free core: sources, models, inference, effects, pipeline and batch. Never import Qt here."""
