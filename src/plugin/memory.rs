//! Guest memory access for host calls: every pointer and length is
//! checked against the memory's current size; a bad one is answered with
//! `INVALID_MEMORY_ACCESS`, never a panic.

use wasmtime::Caller;

use super::state::{HostState, Status};

/// The guest's memory bytes and the host state, borrowed together.
pub(super) fn split<'a>(
    caller: &'a mut Caller<'_, HostState>,
) -> Result<(&'a mut [u8], &'a mut HostState), Status> {
    let memory = caller.data().memory.ok_or(Status::InvalidMemoryAccess)?;
    Ok(memory.data_and_store_mut(caller))
}

fn range(ptr: i32, len: i32) -> Result<std::ops::Range<usize>, Status> {
    // Guest pointers are u32s passed as i32s.
    let start = usize::try_from(ptr as u32).map_err(|_| Status::InvalidMemoryAccess)?;
    let len = usize::try_from(len as u32).map_err(|_| Status::InvalidMemoryAccess)?;
    let end = start.checked_add(len).ok_or(Status::InvalidMemoryAccess)?;
    Ok(start..end)
}

/// `len` bytes at `ptr`.
pub(super) fn slice(data: &[u8], ptr: i32, len: i32) -> Result<&[u8], Status> {
    data.get(range(ptr, len)?)
        .ok_or(Status::InvalidMemoryAccess)
}

/// Writes `bytes` at `ptr`.
pub(super) fn write(data: &mut [u8], ptr: i32, bytes: &[u8]) -> Result<(), Status> {
    let len = i32::try_from(bytes.len()).map_err(|_| Status::InvalidMemoryAccess)?;
    data.get_mut(range(ptr, len)?)
        .ok_or(Status::InvalidMemoryAccess)?
        .copy_from_slice(bytes);
    Ok(())
}

/// Writes a little-endian u32 at `ptr`.
pub(super) fn put_u32(data: &mut [u8], ptr: i32, v: u32) -> Result<(), Status> {
    write(data, ptr, &v.to_le_bytes())
}

/// Writes a little-endian u64 at `ptr`.
pub(super) fn put_u64(data: &mut [u8], ptr: i32, v: u64) -> Result<(), Status> {
    write(data, ptr, &v.to_le_bytes())
}

/// Reads a little-endian u32 at `ptr`.
pub(super) fn get_u32(data: &[u8], ptr: i32) -> Result<u32, Status> {
    let b = slice(data, ptr, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Hands the state's `buf` to the guest: allocates with the guest's
/// allocator, copies, and writes the pointer and length to `ret_ptr` and
/// `ret_len`. A trap in the allocator ends the call (`Err`).
pub(super) fn give(
    caller: &mut Caller<'_, HostState>,
    ret_ptr: i32,
    ret_len: i32,
) -> wasmtime::Result<i32> {
    let len = caller.data().buf.len();
    let Ok(len32) = i32::try_from(len) else {
        return Ok(Status::InvalidMemoryAccess as i32);
    };
    let ptr = if len == 0 {
        0
    } else {
        let Some(alloc) = caller.data().alloc.clone() else {
            return Ok(Status::InvalidMemoryAccess as i32);
        };
        let ptr = alloc.call(&mut *caller, len32)?;
        if ptr == 0 {
            return Ok(Status::InvalidMemoryAccess as i32);
        }
        ptr
    };
    let done = split(caller).and_then(|(data, st)| {
        write(data, ptr, &st.buf)?;
        put_u32(data, ret_ptr, ptr as u32)?;
        put_u32(data, ret_len, len as u32)
    });
    Ok(code(done))
}

/// The status code of a host call's outcome.
pub(super) fn code(r: Result<(), Status>) -> i32 {
    match r {
        Ok(()) => Status::Ok as i32,
        Err(s) => s as i32,
    }
}
