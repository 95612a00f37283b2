from tortoise import migrations
from tortoise.migrations import operations as ops
from models.tables import Role, Scope
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Application',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('key_hash', fields.CharField(max_length=200)),
                ('addon_enabled', fields.BooleanField(default=True)),
                ('suspended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'applications', 'app': 'datastore', 'pk_attr': 'id', 'table_description': 'An application registered on the platform, with its hashed key.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Document',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('app', fields.ForeignKeyField('datastore.Application', source_field='app_id', db_constraint=True, to_field='id', related_name='documents', on_delete=OnDelete.CASCADE)),
                ('scope', fields.CharEnumField(description='APP: APP\nROOM: ROOM\nOWNER: OWNER\nUSER: USER\nSESSION: SESSION', enum_type=Scope, max_length=16)),
                ('target', fields.CharField(max_length=128)),
                ('data', fields.TextField(unique=False)),
                ('authors', fields.TextField(unique=False)),
                ('revision', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'documents', 'app': 'datastore', 'unique_together': (('app', 'scope', 'target'),), 'pk_attr': 'id', 'table_description': 'The JSON document of one scope instance, with its revision and authors.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Room',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('app', fields.ForeignKeyField('datastore.Application', source_field='app_id', db_constraint=True, to_field='id', related_name='rooms', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('owner_ref', fields.CharField(max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'rooms', 'app': 'datastore', 'indexes': [Index(fields=['app_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A video room of an application. Deleted rooms stay as tombstones.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('conf_num', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('room', fields.ForeignKeyField('datastore.Room', source_field='room_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sessions', 'app': 'datastore', 'indexes': [Index(fields=['room_id', 'ended_at'])], 'pk_attr': 'conf_num', 'table_description': 'One meeting held in a room. ``conf_num`` rises across the deployment.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Participant',
            fields=[
                ('client_id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('session', fields.ForeignKeyField('datastore.Session', source_field='session_id', db_constraint=True, to_field='conf_num', related_name='participants', on_delete=OnDelete.CASCADE)),
                ('user_ref', fields.CharField(max_length=128)),
                ('name', fields.CharField(max_length=200)),
                ('role', fields.CharEnumField(description='MODERATOR: MODERATOR\nPARTICIPANT: PARTICIPANT', enum_type=Role, max_length=16)),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('left_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'participants', 'app': 'datastore', 'indexes': [Index(fields=['session_id', 'left_at'])], 'pk_attr': 'client_id', 'table_description': 'One connection of an end user to a session, new on every join.'},
            bases=['Model'],
        ),
    ]
