"""Which monitoring partner a case goes to: workplaces, rules, conflict exclusions."""
