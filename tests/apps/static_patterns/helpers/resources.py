from flask_restful import Resource


class Project(Resource):
    def get(self, project_id):
        return {}

    def put(self, project_id):
        return {}


class Projects(Resource):
    def get(self):
        return []


def ping():
    return "pong"
