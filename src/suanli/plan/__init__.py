"""Fleet planning: scenario files, the fleet MILP (HiGHS) and risk over uncertain inputs."""
