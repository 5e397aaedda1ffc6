//! Contexts (sub-interpreters). The main context is id 0.

use crate::error::Result;

/// End every sub-interpreter before finalization.
pub fn end_all() -> Result<()> {
    Ok(())
}
