"""One word for catalogs: the models Corpus, CorpusItem, CorpusVector and CorpusJob become Catalog,
CatalogItem, CatalogVector and CatalogJob, their ``corpus`` foreign keys ``catalog``, and the
constraints follow. Rows, ids and the app's database label ("corpora") stay as they are."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("corpora", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="corpusitem", name="corpus_item_unique_id"),
        migrations.RemoveConstraint(model_name="corpusvector", name="corpus_vector_unique_item_model"),
        migrations.RenameModel(old_name="Corpus", new_name="Catalog"),
        migrations.RenameModel(old_name="CorpusItem", new_name="CatalogItem"),
        migrations.RenameModel(old_name="CorpusVector", new_name="CatalogVector"),
        migrations.RenameModel(old_name="CorpusJob", new_name="CatalogJob"),
        migrations.AlterModelOptions(name="catalog", options={"ordering": ["-id"], "verbose_name_plural": "catalogs"}),
        migrations.RenameField(model_name="catalogitem", old_name="corpus", new_name="catalog"),
        migrations.RenameField(model_name="catalogjob", old_name="corpus", new_name="catalog"),
        migrations.AddConstraint(
            model_name="catalogitem",
            constraint=models.UniqueConstraint(fields=["catalog", "external_id"], name="catalog_item_unique_id"),
        ),
        migrations.AddConstraint(
            model_name="catalogvector",
            constraint=models.UniqueConstraint(fields=["item", "model"], name="catalog_vector_unique_item_model"),
        ),
    ]
