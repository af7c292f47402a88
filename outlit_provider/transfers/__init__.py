"""Transfer operators: data from other systems into Outlit."""
