module hookflow/bench/server-profile

go 1.22
