use alloy_primitives::U256;

/// An arithmetic operation that the reference contracts would revert on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MathError {
    #[error("overflow in {op}: {a} and {b}")]
    Overflow { op: &'static str, a: U256, b: U256 },
    #[error("division by zero in {op}: {a} / 0")]
    DivisionByZero { op: &'static str, a: U256 },
    #[error("underflow in {op}: {a} - {b}")]
    Underflow { op: &'static str, a: U256, b: U256 },
}

impl MathError {
    pub(crate) fn overflow(op: &'static str, a: U256, b: U256) -> Self {
        Self::Overflow { op, a, b }
    }
}

/// Checked helpers that name the operation in their error.
pub(crate) trait CheckedOps: Sized {
    fn add_or(self, rhs: Self, op: &'static str) -> Result<Self, MathError>;
    fn sub_or(self, rhs: Self, op: &'static str) -> Result<Self, MathError>;
    fn mul_or(self, rhs: Self, op: &'static str) -> Result<Self, MathError>;
}

impl CheckedOps for U256 {
    fn add_or(self, rhs: Self, op: &'static str) -> Result<Self, MathError> {
        self.checked_add(rhs).ok_or_else(|| MathError::overflow(op, self, rhs))
    }
    fn sub_or(self, rhs: Self, op: &'static str) -> Result<Self, MathError> {
        self.checked_sub(rhs).ok_or(MathError::Underflow { op, a: self, b: rhs })
    }
    fn mul_or(self, rhs: Self, op: &'static str) -> Result<Self, MathError> {
        super::checked_mul(self, rhs).ok_or_else(|| MathError::overflow(op, self, rhs))
    }
}
