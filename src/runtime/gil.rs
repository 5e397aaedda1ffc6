//! The `Gil<'py>` token that proves the GIL is held (PyO3's `Python<'py>` idea). Functions that
//! need the GIL take one, so the compiler checks it; `runtime::attach` is the only maker of
//! tokens for entries into Python.

use std::marker::PhantomData;

/// Proof that the current thread holds the GIL for `'py`. Not `Send`: the GIL is per thread.
#[derive(Clone, Copy)]
pub struct Gil<'py>(PhantomData<(&'py (), *const ())>);

impl Gil<'_> {
    /// # Safety
    /// The caller must hold the GIL for the whole lifetime of the token.
    pub unsafe fn assume() -> Self {
        Gil(PhantomData)
    }
}
