//! The Lua scripts of the Redis backend, one file each under `lua/`, each naming its KEYS and
//! ARGV at the top: each decides one store operation on one key, so single use is atomic
//! inside Redis and every operation works on Redis Cluster.

pub const CREATE_FAMILY: &str = include_str!("lua/create_family.lua");
/// `rotation::decide` and its write.
pub const ROTATE: &str = include_str!("lua/rotate.lua");
pub const REVOKE_FAMILY: &str = include_str!("lua/revoke_family.lua");
pub const REVOKE_OWNED_FAMILY: &str = include_str!("lua/revoke_owned_family.lua");
pub const PUT_CODE: &str = include_str!("lua/put_code.lua");
pub const REDEEM_CODE: &str = include_str!("lua/redeem_code.lua");
pub const UNREDEEM: &str = include_str!("lua/unredeem.lua");
/// The login scripts start with the settling of lapsed failures and reservations.
pub const RESERVE_LOGIN: &str = concat!(
    include_str!("lua/login_settle.lua"),
    include_str!("lua/reserve_login.lua")
);
pub const LOGIN_FAILED: &str = concat!(
    include_str!("lua/login_settle.lua"),
    include_str!("lua/login_failed.lua")
);
pub const LOGIN_RELEASED: &str = include_str!("lua/login_released.lua");
