(i32.store8 (i32.const 16) (i32.const 7)) (i32.const 16)
