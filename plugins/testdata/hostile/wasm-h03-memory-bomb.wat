(block $b (loop $l (br_if $b (i32.eq (memory.grow (i32.const 16)) (i32.const -1))) (br $l))) (i32.const 0)
