//! reckon-sdk (work in progress).
