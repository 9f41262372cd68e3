(i32.store8 (i32.const 16) (i32.const 0)) (i32.store (i32.const 20) (i32.const 0x7ffffff0)) (i32.store (i32.const 24) (i32.const 4)) (i32.const 16)
