//! Interest rate models (being written).
