//! Proxy selection from flags and environment, NO_PROXY matching. PENDING.
