from tortoise import migrations
from tortoise.migrations import operations as ops
from models.tables import Scope
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('datastore', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ChangeLogEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('app', fields.ForeignKeyField('datastore.Application', source_field='app_id', db_constraint=True, to_field='id', related_name='changes', on_delete=OnDelete.CASCADE)),
                ('scope', fields.CharEnumField(description='APP: APP\nROOM: ROOM\nOWNER: OWNER\nUSER: USER\nSESSION: SESSION', enum_type=Scope, max_length=16)),
                ('target', fields.CharField(max_length=128)),
                ('revision', fields.IntField()),
                ('patch', fields.TextField(unique=False)),
                ('author', fields.TextField(unique=False)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'changes', 'app': 'datastore', 'unique_together': (('app', 'scope', 'target', 'revision'),), 'indexes': [Index(fields=['at'])], 'pk_attr': 'id', 'table_description': 'One applied write of a document, kept for a while so that readers can replay.'},
            bases=['Model'],
        ),
    ]
