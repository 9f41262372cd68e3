(loop $l (br $l)) (i32.const 0)
