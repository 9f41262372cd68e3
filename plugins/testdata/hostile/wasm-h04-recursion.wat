(call $f (local.get 0))
