module leadloop/bench/loadgen

go 1.22
