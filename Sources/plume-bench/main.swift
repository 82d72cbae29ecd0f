print("plume-bench: work in progress")
