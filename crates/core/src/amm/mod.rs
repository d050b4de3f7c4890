//! Automated market makers (being written).
