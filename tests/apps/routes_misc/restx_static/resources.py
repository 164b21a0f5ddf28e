from flask_restx import Namespace, Resource

dogs = Namespace("dogs")


class Dog(Resource):
    def delete(self, name):
        return None


dogs.add_resource(Dog, "/<name>")
