"""修課紀錄: course sections and enrolments imported from the school system."""
