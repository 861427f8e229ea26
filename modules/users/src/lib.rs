//! Directory management: companies, the group tree, users, roles and scoping, fixed seals
//! and delegates.

pub mod api;

use keiyaku_kernel::Kernel;
use keiyaku_kernel::module::Module;

pub struct UsersModule;

impl Module for UsersModule {
    fn name(&self) -> &'static str {
        "users"
    }

    fn tables(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

#[derive(Clone)]
pub struct Users {
    pub kernel: Kernel,
}

impl Users {
    pub fn new(kernel: Kernel) -> Self {
        Self { kernel }
    }
}
