"""nbgrader configuration of the course (the instructor's store of record).

solutions/ is nbgrader's source folder and lessons/ its release folder, so
`nbgrader generate_assignment` (run by `make release`) writes the student notebooks
straight into lessons/. The gradebook and nbgrader's working folders stay out of git.
"""

import os

c = get_config()  # noqa: F821 - provided by nbgrader

here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = here
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"
c.CourseDirectory.source_with_tests_directory = os.path.join(".nbgrader", "source_with_tests")
c.CourseDirectory.submitted_directory = os.path.join("grading", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("grading", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("grading", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "grading", "gradebook.db")
c.CourseDirectory.course_id = "deep-rl-course"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__"]
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# Nothing in the released notebooks runs at release time: it only strips and checks.
c.GenerateAssignment.create_assignment = True
