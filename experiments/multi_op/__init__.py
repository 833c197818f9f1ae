"""Study 2: intersections of the top-3 operators' best pools against random pools of equal size."""
